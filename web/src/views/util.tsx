import type { ComponentChildren } from 'preact';
import { useErrorBoundary } from 'preact/hooks';

export function Panel(props: { id: string; title: string; sub?: ComponentChildren; children: ComponentChildren; wide?: boolean }) {
  return (
    <section class={`panel${props.wide ? ' wide' : ''}`} data-view={props.id} id={`view-${props.id}`}>
      <h2>{props.title}{props.sub ? <span class="sub"> {props.sub}</span> : null}</h2>
      <div class="body">{props.children}</div>
    </section>
  );
}

export function NotAvailable(props: { what: string; kernel: string; why?: string }) {
  return <p class="na">{props.what}: not available for this kernel ({props.kernel}){props.why ? `: ${props.why}` : ''}.</p>;
}

export function shortHex(h: string): string {
  return h;
}

/** One view's failure stays in that view: it says so instead of taking the page down. */
export function Guard(props: { name: string; children: ComponentChildren }) {
  const [err, reset] = useErrorBoundary();
  if (err) {
    return (
      <section class="panel" data-view={`failed-${props.name}`}>
        <h2>{props.name}</h2>
        <div class="body">
          <p class="error">This view could not be drawn here: {err instanceof Error ? err.message : String(err)}</p>
          <button onClick={reset}>retry</button>
        </div>
      </section>
    );
  }
  return <>{props.children}</>;
}
