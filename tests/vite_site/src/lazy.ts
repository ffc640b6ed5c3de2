import { mark } from "./shared";

export function more(): void {
  mark("lazy");
}
