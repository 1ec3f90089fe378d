// A container image made on the spot from Debian's busybox-static (no registry is reachable from
// the test machines): a root filesystem with /bin/busybox and the applets the tests use, as a plain
// tar (what `podman import` takes) and as an OCI image layout archive (what `ctr image import`
// takes), both under the test's scratch directory.

import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { runOk } from "./run";

/** The statically linked busybox of Debian's busybox-static package. */
const BUSYBOX = "/bin/busybox";
const APPLETS = ["sh", "ip", "ping", "sleep", "true", "cat", "hostname", "nc"] as const;
/** The name both runtimes know the image by. */
export const BUSYBOX_IMAGE = "localhost/tscni-busybox:test";

export interface BusyboxImage {
  /** The root filesystem as a tar stream (for `podman import`). */
  readonly rootfsTar: string;
  /** An OCI image layout in a tar (for `ctr image import`), named BUSYBOX_IMAGE. */
  readonly ociArchive: string;
}

/** Builds the image files in `dir` (which must exist). */
export function buildBusyboxImage(dir: string): BusyboxImage {
  const root = join(dir, "rootfs");
  for (const sub of ["bin", "etc", "proc", "sys", "dev", "tmp"]) mkdirSync(join(root, sub), { recursive: true });
  copyFileSync(BUSYBOX, join(root, "bin/busybox"));
  for (const applet of APPLETS) symlinkSync("busybox", join(root, "bin", applet));
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/:/bin/sh\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\n");

  const rootfsTar = join(dir, "rootfs.tar");
  runOk("tar", ["--owner=0", "--group=0", "--numeric-owner", "-C", root, "-cf", rootfsTar, "."]);
  return { rootfsTar, ociArchive: writeOciArchive(join(dir, "oci"), rootfsTar) };
}

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/** An OCI image layout (image-spec 1.0): one uncompressed layer, its config, manifest and index. */
function writeOciArchive(layout: string, layerTar: string): string {
  const blobs = join(layout, "blobs/sha256");
  mkdirSync(blobs, { recursive: true });
  const store = (mediaType: string, bytes: Buffer): Descriptor => {
    const hex = createHash("sha256").update(bytes).digest("hex");
    writeFileSync(join(blobs, hex), bytes);
    return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
  };
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));

  const layerBytes = readFileSync(layerTar);
  const layer = store("application/vnd.oci.image.layer.v1.tar", layerBytes);
  const config = store(
    "application/vnd.oci.image.config.v1+json",
    json({
      architecture: "amd64",
      os: "linux",
      config: { Env: ["PATH=/bin"], Cmd: ["sh"] },
      rootfs: { type: "layers", diff_ids: [layer.digest] },
    }),
  );
  const manifest = store(
    "application/vnd.oci.image.manifest.v1+json",
    json({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [layer] }),
  );
  const tag = BUSYBOX_IMAGE.slice(BUSYBOX_IMAGE.lastIndexOf(":") + 1);
  writeFileSync(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          ...manifest,
          annotations: { "io.containerd.image.name": BUSYBOX_IMAGE, "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const archive = `${layout}.tar`;
  runOk("tar", ["-C", layout, "-cf", archive, "oci-layout", "index.json", "blobs"]);
  return archive;
}
