import "./main.css";
import { mark } from "./shared";

mark("main");

// A dynamic import: its chunk must not be preloaded; it is fetched when it runs.
document.getElementById("more")!.addEventListener("click", async () => {
  const { more } = await import("./lazy");
  more();
});
