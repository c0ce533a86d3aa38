// Links from a kernel function's `src` ("file:function (version)", or "file:line:function") to
// the real source online: Linux at its version on elixir.bootlin.com, XNU at its release tag on
// github.com/apple-oss-distributions/xnu. The bare lab has no source to link.

export const XNU_TAG = 'xnu-11417.121.6';

export interface SourceRef {
  file: string;
  line?: number;
  fn?: string;
  version?: string;
  url?: string;
  /** Identifier search, when the line is not known. */
  identUrl?: string;
}

const SRC_RE = /^([\w./+-]+\.(?:c|h|S|s|cpp|m|rs))(?::(\d+))?(?::([\w$.]+))?(?:\s*\(([^)]*)\))?/;

export function sourceRef(src: string, fn: string, kernel: string): SourceRef | null {
  const m = SRC_RE.exec(src.trim());
  if (!m) return null;
  const [, file, line, name, version] = m;
  const ref: SourceRef = { file: file!, line: line ? Number(line) : undefined, fn: name ?? fn, version };
  const anchor = ref.line ? `#L${ref.line}` : '';
  if (kernel.startsWith('linux')) {
    const v = (kernel.slice('linux-'.length) || version || '').replace(/^v/, '');
    if (!v) return ref;
    ref.url = `https://elixir.bootlin.com/linux/v${v}/source/${ref.file}${anchor}`;
    ref.identUrl = `https://elixir.bootlin.com/linux/v${v}/A/ident/${encodeURIComponent(ref.fn ?? fn)}`;
  } else if (kernel.startsWith('xnu')) {
    ref.url = `https://github.com/apple-oss-distributions/xnu/blob/${XNU_TAG}/${ref.file}${anchor}`;
  }
  return ref;
}
