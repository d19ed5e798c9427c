// Who is signed in: the token (sessionStorage) and /auth/me, shared through a context.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, getToken, onUnauthorized, setToken } from "../api/client";
import type { PrincipalOut } from "../api/types";
import { roleSets } from "./roles";

export interface Session {
  me: PrincipalOut | null;
  loading: boolean;
  roles: Set<string>;
  can: ReturnType<typeof roleSets>;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: () => void;
}

const Ctx = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<PrincipalOut | null>(null);
  const [loading, setLoading] = useState(() => getToken() !== null);

  const signOut = useCallback(() => {
    setToken(null);
    setMe(null);
    setLoading(false);
  }, []);

  useEffect(() => onUnauthorized(signOut), [signOut]);

  useEffect(() => {
    if (getToken() === null) return;
    api
      .me()
      .then(setMe)
      .catch(() => signOut())
      .finally(() => setLoading(false));
  }, [signOut]);

  const signIn = useCallback(async (username: string, password: string) => {
    const tok = await api.login(username, password);
    setToken(tok.access_token);
    try {
      setMe(await api.me());
    } catch (e) {
      setToken(null);
      throw e;
    }
  }, []);

  const value = useMemo<Session>(() => {
    const roles = new Set((me?.grants ?? []).map((g) => g.role));
    return { me, loading, roles, can: roleSets(roles), signIn, signOut };
  }, [me, loading, signIn, signOut]);

  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): Session {
  const s = useContext(Ctx);
  if (!s) throw new Error("useSession outside SessionProvider");
  return s;
}
