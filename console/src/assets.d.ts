// esbuild bundles the stylesheet the page imports; TypeScript only needs to know it exists.
declare module "*.css";
