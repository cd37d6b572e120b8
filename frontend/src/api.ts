// The dashboard talks to facewatch only through GraphQL (plus the REST file/report downloads).
// The session cookie (HttpOnly, set by /api/auth/login) authenticates both HTTP and the WebSocket.
// This module also owns what the page shows about the connection: online / lost (banner) and an
// ended session (back to the login screen with a message).
import { createClient, type Client } from "graphql-ws";

export class LoginRequired extends Error {}

/** A GraphQL error with the server's machine-readable `extensions.code` (e.g. FACE_MATCHES_OTHER). */
export class GqlError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/** The server could not be reached at all. */
export class ConnectionLost extends Error {}

export type ConnectionState = "online" | "lost";

const connectionListeners = new Set<(state: ConnectionState) => void>();
const reconnectListeners = new Set<() => void>();
let connectionState: ConnectionState = "online";
let sessionEndedHandler: (message: string) => void = () => {};

/** Called with each change of the connection state (banner). */
export function onConnectionChange(listener: (state: ConnectionState) => void): () => void {
  connectionListeners.add(listener);
  listener(connectionState);
  return () => connectionListeners.delete(listener);
}

/** Called after the connection came back from "lost" (pages refetch what they show). */
export function onReconnect(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

/** What to do when the session is no longer valid (the shell shows the login screen). */
export function onSessionEnded(handler: (message: string) => void) {
  sessionEndedHandler = handler;
}

export const SESSION_ENDED = "Your session has ended (expired, signed out elsewhere or revoked). Please sign in again.";

function setConnection(state: ConnectionState) {
  if (state === connectionState) return;
  const recovered = connectionState === "lost" && state === "online";
  connectionState = state;
  connectionListeners.forEach((l) => l(state));
  if (recovered) reconnectListeners.forEach((l) => l());
}

function sessionEnded() {
  closeSubscriptions();
  sessionEndedHandler(SESSION_ENDED);
}

export async function gql<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    setConnection("lost");
    throw new ConnectionLost("the server cannot be reached");
  }
  if (!client) setConnection("online");
  if (response.status === 401) {
    sessionEnded();
    throw new LoginRequired("login required");
  }
  const body = await response.json();
  if (body.errors?.length) {
    throw new GqlError(body.errors.map((e: { message: string }) => e.message).join("; "), body.errors[0].extensions?.code);
  }
  return body.data as T;
}

let client: Client | null = null;

/** After a dropped WebSocket: is the server there, and does it still know this session? */
async function probe() {
  try {
    const response = await fetch("/api/auth/me", { credentials: "same-origin" });
    if (response.status === 401) return sessionEnded();
  } catch {
    setConnection("lost");
  }
}

function ws(): Client {
  client ??= createClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql/ws`,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    // Back soon after the server is: 0.5 s, 1 s, 2 s, then every 3 s.
    retryWait: (retries) => new Promise((r) => setTimeout(r, Math.min(500 * 2 ** retries, 3000))),
    on: {
      connected: () => setConnection("online"),
      closed: (event) => {
        if (!client) return; // closed by us (sign out, session ended)
        if ((event as CloseEvent)?.code === 4401) return sessionEnded();
        setConnection("lost");
        probe();
      },
    },
  });
  return client;
}

/** Live updates: calls `onData` for every pushed result; returns the unsubscribe function. */
export function subscribe<T = any>(query: string, onData: (data: T) => void): () => void {
  return ws().subscribe<T>(
    { query },
    {
      next: (result) => result.data && onData(result.data as T),
      error: (error) => console.error("subscription failed", error),
      complete: () => {},
    },
  );
}

export function closeSubscriptions() {
  const closing = client;
  client = null;
  closing?.dispose();
}

export interface Me {
  username: string;
  role: "ADMIN" | "VIEWER";
}

export async function me(): Promise<Me | null> {
  const response = await fetch("/api/auth/me", { credentials: "same-origin" });
  return response.ok ? response.json() : null;
}

export async function login(username: string, password: string): Promise<Me> {
  const response = await fetch("/api/auth/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? "login failed");
  return body;
}

export async function logout() {
  await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin" });
  closeSubscriptions();
}
