import { defineConfig } from "vite";

// `npm run dev` proxies the API to a local `facewatch serve` (default port 8080).
const api = process.env.FACEWATCH_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  server: {
    proxy: {
      "/graphql/ws": { target: api.replace(/^http/, "ws"), ws: true },
      "/graphql": api,
      "/api": api,
    },
  },
});
