// The chunk both entries import statically: Vite splits it out of them.
import "./shared.css";

export function mark(page: string): void {
  document.documentElement.dataset.page = page;
  document.getElementById("status")!.textContent = `${page} ran`;
}
