// The live change feed (GET /api/v1/events, server-sent events) read with fetch and a stream
// reader so the bearer token travels in the Authorization header, never in the URL (URLs land
// in access logs). Reconnects after a drop, resuming with Last-Event-ID.
import { useEffect, useRef, useState } from "react";
import { API, getToken } from "./client";

export interface LiveEvent {
  id: number;
  kind: string;
  case_no: string | null;
  [key: string]: unknown;
}

export function parseSse(buffer: string): { events: { id?: string; event?: string; data: string }[]; rest: string } {
  const events: { id?: string; event?: string; data: string }[] = [];
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    const ev: { id?: string; event?: string; data: string } = { data: "" };
    let hasData = false;
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "id") ev.id = value;
      else if (field === "event") ev.event = value;
      else if (field === "data") {
        ev.data += (hasData ? "\n" : "") + value;
        hasData = true;
      }
    }
    if (hasData) events.push(ev);
  }
  return { events, rest };
}

/** Calls `onEvent` for every change the caller may see, from now on, while mounted; and
 *  `onConnect` each time the stream (re)opens, so a screen can reload what it may have missed
 *  while it was not connected. Returns whether the stream is open. */
export function useLiveEvents(
  onEvent: (e: LiveEvent) => void,
  enabled = true,
  onConnect?: () => void,
): boolean {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const connectHandler = useRef(onConnect);
  connectHandler.current = onConnect;
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (!enabled) return;
    const ctrl = new AbortController();
    let lastId: string | null = null;
    let stopped = false;

    async function run(): Promise<void> {
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      const token = getToken();
      if (token) headers.Authorization = `Bearer ${token}`;
      if (lastId) headers["Last-Event-ID"] = lastId;
      const res = await fetch(`${API}/events`, { headers, signal: ctrl.signal });
      if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
      setConnected(true);
      connectHandler.current?.();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        const parsed = parseSse(buffer);
        buffer = parsed.rest;
        for (const ev of parsed.events) {
          if (ev.id) lastId = ev.id;
          try {
            handler.current(JSON.parse(ev.data) as LiveEvent);
          } catch {
            /* a malformed line is skipped */
          }
        }
      }
    }

    async function loop(): Promise<void> {
      let delay = 1000;
      while (!stopped) {
        try {
          await run();
          delay = 1000;
        } catch {
          if (stopped) return;
        }
        if (stopped) return;
        setConnected(false);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    }
    void loop();
    return () => {
      stopped = true;
      ctrl.abort();
      setConnected(false);
    };
  }, [enabled]);
  return connected;
}

/** `fn` at most once per `ms`, trailing: a burst of events (a batch of timers firing) reloads a
 *  screen once, not once per event. */
export function useCoalesced(fn: () => void, ms = 300): () => void {
  const latest = useRef(fn);
  latest.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  return useRef(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, ms);
  }).current;
}
