// The dashboard talks to facewatch only through GraphQL (plus the REST file/report downloads).
// The session cookie (HttpOnly, set by /api/auth/login) authenticates both HTTP and the WebSocket.
import { createClient, type Client } from "graphql-ws";

export class LoginRequired extends Error {}

export async function gql<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch("/graphql", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  if (response.status === 401) throw new LoginRequired("login required");
  const body = await response.json();
  if (body.errors?.length) throw new Error(body.errors.map((e: { message: string }) => e.message).join("; "));
  return body.data as T;
}

let client: Client | null = null;

function ws(): Client {
  client ??= createClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql/ws`,
    retryAttempts: Infinity,
    shouldRetry: () => true,
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
  client?.dispose();
  client = null;
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

/** Selection of a type's scalar/enum fields, learned by introspection: used for the few fields whose
 * shape is still evolving on the server (camera test results), so the UI keeps working as it grows. */
export async function callMutation(field: string, decl: string, args: string, variables: Record<string, unknown>) {
  const data = await gql(`{ __type(name: "Mutation") { fields { name type { kind name ofType { kind name ofType { kind name } } } } } }`);
  const info = data.__type.fields.find((f: { name: string }) => f.name === field);
  if (!info) throw new Error(`the server has no ${field} yet`);
  let type = info.type;
  while (type.ofType) type = type.ofType;
  let selection = "";
  if (type.kind === "OBJECT") {
    const fields = await gql(`query($n: String!) { __type(name: $n) { fields { name type { kind ofType { kind ofType { kind } } } } } }`, { n: type.name });
    const scalar = (t: any): boolean => (t.ofType ? scalar(t.ofType) : t.kind === "SCALAR" || t.kind === "ENUM");
    selection = `{ ${fields.__type.fields.filter((f: any) => scalar(f.type)).map((f: any) => f.name).join(" ")} }`;
  }
  const result = await gql(`mutation(${decl}) { result: ${field}(${args}) ${selection} }`, variables);
  return result.result;
}
