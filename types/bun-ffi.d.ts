// The part of Bun's `bun:ffi` that native/embedded.ts uses. Declared here rather than pulling in the
// whole of bun-types, whose globals would clash with @types/node in code that also runs under Node.
declare module "bun:ffi" {
  export const FFIType: {
    readonly i32: number;
    readonly u32: number;
    readonly cstring: number;
    readonly ptr: number;
  };
  export interface FFIFunctionSpec {
    readonly args: readonly number[];
    readonly returns: number;
  }
  export function dlopen<Spec extends Record<string, FFIFunctionSpec>>(
    path: string,
    symbols: Spec,
  ): { readonly symbols: { readonly [K in keyof Spec]: (...args: unknown[]) => number }; close(): void };
  export const read: { i32(pointer: number, byteOffset?: number): number };
}

// The compiled binary embeds the addon with `import path from "...node" with { type: "file" }`.
declare module "*.node" {
  const embeddedPath: string;
  export default embeddedPath;
}
