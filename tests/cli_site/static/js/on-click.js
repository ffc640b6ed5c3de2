export const clicked = true;
