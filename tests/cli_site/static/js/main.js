// A module script: its static imports are preloaded, its dynamic import() is not.
import { greet } from "./util.js";
import "./lib/dom.mjs";

document.addEventListener("click", () => import("./on-click.js"));
greet();
