/**
 * `<edgeloop-report>`: a "report wrong result" control an app puts next to a prediction. No framework needed;
 * native buttons and form controls (keyboard and screen readers work as usual), Escape closes it, and it is
 * styled from outside with `::part()` and `--edgeloop-*` custom properties.
 *
 * ```html
 * <edgeloop-report prediction-id="…"></edgeloop-report>
 * <script type="module">el.runtime = rt;</script>
 * ```
 */
import type { Runtime } from './types.js';

export interface ReportDetail {
  predictionId: string;
  label: string;
  comment?: string;
}

const STYLE = `
:host { display: inline-block; font: inherit; color: inherit; }
[hidden] { display: none !important; }
button { font: inherit; cursor: pointer; border-radius: var(--edgeloop-radius, 6px); padding: .35em .8em;
  border: 1px solid var(--edgeloop-accent, #2563eb); background: transparent; color: var(--edgeloop-accent, #2563eb); }
button[type=submit] { background: var(--edgeloop-accent, #2563eb); color: var(--edgeloop-on-accent, #fff); }
button:focus-visible, select:focus-visible, textarea:focus-visible { outline: 2px solid var(--edgeloop-focus, #f59e0b); outline-offset: 2px; }
form { display: grid; gap: .5em; margin-top: .5em; padding: .75em; border-radius: var(--edgeloop-radius, 6px);
  border: 1px solid var(--edgeloop-border, #d1d5db); background: var(--edgeloop-surface, transparent); }
label { display: grid; gap: .25em; }
select, textarea { font: inherit; }
.actions { display: flex; gap: .5em; }
`;

let counter = 0;

/** Defines `<edgeloop-report>` (or another tag name) once; returns the element class. */
export function defineReportElement(tagName = 'edgeloop-report'): CustomElementConstructor {
  const existing = customElements.get(tagName);
  if (existing) return existing;

  class EdgeloopReport extends HTMLElement {
    static observedAttributes = ['prediction-id', 'labels', 'disabled'];
    /**
     * The runtime that receives the report. `declare`d, not initialised: an app may set it on the element before
     * the tag is defined, and an initialiser would overwrite it when the element upgrades.
     */
    declare runtime: Pick<Runtime, 'reportWrongResult' | 'labels'> | null | undefined;
    private readonly root: ShadowRoot;
    private readonly toggle: HTMLButtonElement;
    private readonly form: HTMLFormElement;
    private readonly select: HTMLSelectElement;
    private readonly comment: HTMLTextAreaElement;
    private readonly status: HTMLElement;

    constructor() {
      super();
      const id = `edgeloop-report-${++counter}`;
      this.root = this.attachShadow({ mode: 'open' });
      this.root.innerHTML = `<style>${STYLE}</style>
<button type="button" part="button" aria-expanded="false" aria-controls="${id}"><slot name="label">Report wrong result</slot></button>
<form id="${id}" part="form" hidden aria-label="Report a wrong result">
  <label part="field">Correct answer <select part="select" name="label" required></select></label>
  <label part="field">Comment (optional) <textarea part="comment" name="comment" rows="2" maxlength="2000"></textarea></label>
  <div class="actions"><button type="submit" part="submit">Send report</button><button type="button" part="cancel">Cancel</button></div>
</form>
<span part="status" role="status" aria-live="polite"></span>`;
      const q = <T extends Element>(sel: string) => this.root.querySelector(sel) as T;
      this.toggle = q<HTMLButtonElement>('button[part=button]');
      this.form = q<HTMLFormElement>('form');
      this.select = q<HTMLSelectElement>('select');
      this.comment = q<HTMLTextAreaElement>('textarea');
      this.status = q<HTMLElement>('[part=status]');
      this.toggle.addEventListener('click', () => (this.form.hidden ? this.open() : this.close()));
      q<HTMLButtonElement>('button[part=cancel]').addEventListener('click', () => this.close());
      this.form.addEventListener('submit', (e) => {
        e.preventDefault();
        void this.submit();
      });
      this.root.addEventListener('keydown', (e) => {
        if ((e as KeyboardEvent).key === 'Escape' && !this.form.hidden) {
          e.stopPropagation();
          this.close();
        }
      });
    }

    get predictionId(): string {
      return this.getAttribute('prediction-id') ?? '';
    }

    set predictionId(v: string) {
      this.setAttribute('prediction-id', v);
    }

    attributeChangedCallback(name: string): void {
      if (name === 'prediction-id') {
        // A new prediction: a previous report's confirmation no longer applies.
        this.status.textContent = '';
        this.close(false);
      }
      if (name === 'disabled') this.toggle.disabled = this.hasAttribute('disabled');
    }

    /** Opens the form and moves focus to the label choice. */
    open(): void {
      const labels =
        this.getAttribute('labels')
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean) ??
        this.runtime?.labels() ??
        [];
      this.select.replaceChildren(new Option('Choose…', '', true, true), ...labels.map((l) => new Option(l, l)));
      (this.select.options[0] as HTMLOptionElement).disabled = true;
      this.comment.value = '';
      this.status.textContent = '';
      this.form.hidden = false;
      this.toggle.setAttribute('aria-expanded', 'true');
      this.select.focus();
    }

    /** Closes the form; focus goes back to the button. */
    close(focus = true): void {
      if (this.form.hidden) return;
      this.form.hidden = true;
      this.toggle.setAttribute('aria-expanded', 'false');
      if (focus) this.toggle.focus();
    }

    private async submit(): Promise<void> {
      const label = this.select.value;
      if (!label) {
        this.select.focus();
        return;
      }
      const detail: ReportDetail = {
        predictionId: this.predictionId,
        label,
        ...(this.comment.value ? { comment: this.comment.value } : {}),
      };
      try {
        if (!this.runtime) throw new Error("set the element's runtime property first");
        await this.runtime.reportWrongResult(
          detail.predictionId,
          label,
          detail.comment !== undefined ? { comment: detail.comment } : {},
        );
        this.close();
        this.status.textContent = 'Thanks, your correction was recorded.';
        this.dispatchEvent(new CustomEvent<ReportDetail>('edgeloop-report', { detail, bubbles: true, composed: true }));
      } catch (err) {
        this.status.textContent = 'The report could not be recorded.';
        this.dispatchEvent(
          new CustomEvent('edgeloop-report-error', {
            detail: { ...detail, error: err },
            bubbles: true,
            composed: true,
          }),
        );
      }
    }
  }

  customElements.define(tagName, EdgeloopReport);
  return EdgeloopReport;
}
