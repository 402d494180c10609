// moleculer-io ships no typings; the io service reaches it only through the typed surface in io.service.ts.
declare module "moleculer-io" {
  import type { ServiceSchema } from "moleculer";
  const SocketIOMixin: Partial<ServiceSchema>;
  export = SocketIOMixin;
}
