// The designer's calls, through the console's one API client (src/api/client.ts).
import { ApiError, api, request, requestText } from "../api/client";
import type { BundleProblem, DefinitionOut, DeployedOut } from "../api/types";
import type { ServerCatalog } from "./catalog";

export type { BundleProblem, DefinitionOut, DeployedOut };

export interface BundleFileInfo {
  filename: string;
  kind: string;
  sha256?: string;
  source?: boolean;
}

/** One file of a bundle, as text (BPMN, DMN and forms are all UTF-8 text). */
export interface BundleFile {
  filename: string;
  text: string;
  /** The version's own BPMN file (the one the modeler edits). */
  source?: boolean;
}

const versionPath = (processId: string, version: number) =>
  `/definitions/${encodeURIComponent(processId)}/versions/${version}`;

export const definitions = (): Promise<DefinitionOut[]> => api.definitions();

export const definitionXml = (processId: string, version: number): Promise<string> =>
  api.definitionXml(processId, version);

/** The files of the bundle a version was deployed from, or null when the server cannot list them. */
export async function bundleListing(processId: string, version: number): Promise<BundleFileInfo[] | null> {
  try {
    return await request<BundleFileInfo[]>(`${versionPath(processId, version)}/files`);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
    throw e;
  }
}

/** One file of a version's bundle, as text. */
export const bundleFileText = (processId: string, version: number, filename: string): Promise<string> =>
  requestText(`${versionPath(processId, version)}/files/${encodeURIComponent(filename)}`, { accept: "*/*" });

/** Every file of the bundle with its text (what a deploy of a new version sends), or null. */
export async function bundleFiles(processId: string, version: number): Promise<BundleFile[] | null> {
  const listing = await bundleListing(processId, version);
  if (listing === null) return null;
  return Promise.all(
    listing.map(async (f) => ({
      filename: f.filename,
      source: f.source ?? false,
      text: await bundleFileText(processId, version, f.filename),
    })),
  );
}

/** The designer catalog (deadline keys, lanes, case states), or null when the server has none. */
export async function serverCatalog(): Promise<ServerCatalog | null> {
  try {
    return await request<ServerCatalog>("/definitions/catalog");
  } catch (e) {
    if (e instanceof ApiError && e.status !== 0 && e.status !== 401) return null;
    throw e;
  }
}

function formOf(files: BundleFile[]): FormData {
  const form = new FormData();
  for (const f of files) {
    const type = f.filename.endsWith(".json") ? "application/json" : "application/xml";
    form.append("files", new Blob([f.text], { type }), f.filename);
  }
  return form;
}

export type CheckResult = { ok: true } | { ok: false; problems: BundleProblem[]; message: string };

/** `POST /definitions/validate`: every problem of the bundle, or ok. */
export async function validateBundle(files: BundleFile[]): Promise<CheckResult> {
  try {
    await api.validate(formOf(files));
    return { ok: true };
  } catch (e) {
    if (e instanceof ApiError && e.status === 422)
      return { ok: false, problems: e.problems, message: e.detail };
    throw e;
  }
}

/** `POST /definitions`: deploy the bundle as new versions. */
export const deployBundle = (files: BundleFile[]): Promise<DeployedOut[]> => api.deploy(formOf(files));
