import { mark } from "./shared";

mark("admin");
