/** A tab of the admin page: renders into `root`; `say` shows a status line. */
export interface View {
  title: string;
  /** False for a view over every model (the model list). */
  perModel: boolean;
  /** `model` is '' for a view that is not per model; `arg` is the hash's third part (the dashboard's window). */
  render(root: HTMLElement, model: string, say: Say, arg?: string): Promise<void>;
}

export type Say = (text: string, error?: boolean) => void;
