export * from "../util.js";
