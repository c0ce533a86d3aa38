// The scenario editor: a plain textarea over a backdrop that marks the line of a validation
// error (with the parser's line:col and field) and the line of the step being shown.

import { useRef } from 'preact/hooks';
import type { InputError } from '../model/run.js';

export function Editor(props: { text: string; file: string; error: InputError | null; stepLine?: number; onChange: (t: string) => void }) {
  const back = useRef<HTMLDivElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const lines = props.text.split('\n');
  const errLine = props.error?.line ?? 0;
  const sync = (ev: Event) => {
    const t = ev.currentTarget as HTMLTextAreaElement;
    if (back.current) {
      back.current.scrollTop = t.scrollTop;
      back.current.scrollLeft = t.scrollLeft;
    }
    if (gutter.current) gutter.current.scrollTop = t.scrollTop;
  };
  return (
    <div class="editor-wrap">
      <div class="editor">
        <div class="gutter" ref={gutter} aria-hidden="true">
          {lines.map((_, i) => <div class={i + 1 === errLine ? 'err' : i + 1 === props.stepLine ? 'cur' : ''}>{i + 1}</div>)}
        </div>
        <div class="code">
          <div class="backdrop" ref={back} aria-hidden="true">
            {lines.map((l, i) => <div class={i + 1 === errLine ? 'err-line' : i + 1 === props.stepLine ? 'step-line' : ''}>{l || ' '}</div>)}
          </div>
          <textarea
            id="scenario-text" spellcheck={false} value={props.text} aria-label={`scenario ${props.file}`}
            onInput={(e) => props.onChange((e.currentTarget as HTMLTextAreaElement).value)} onScroll={sync}
            onKeyDown={(e) => e.key === 'Escape' && (e.currentTarget as HTMLTextAreaElement).blur()}
            title="Escape leaves the editor so the step keys work again"
          />
        </div>
      </div>
      {props.error ? (
        <div class="error" role="alert" id="scenario-error" data-line={props.error.line} data-col={props.error.col}>
          {props.error.line > 0 ? <b>line {props.error.line}, col {props.error.col}: </b> : null}
          {props.error.path ? <code>{props.error.path}</code> : null}{props.error.path ? ': ' : ''}{props.error.message}
          <div class="muted">{props.error.text}</div>
        </div>
      ) : null}
    </div>
  );
}
