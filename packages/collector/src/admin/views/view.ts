/** A tab of the admin page: renders one model's data into `root`; `say` shows a status line. */
export interface View {
  title: string;
  render(root: HTMLElement, model: string, say: (text: string, error?: boolean) => void): Promise<void>;
}
