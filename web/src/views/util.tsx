import type { ComponentChildren } from 'preact';

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
