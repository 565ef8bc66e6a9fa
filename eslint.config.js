// ESLint for the console's JavaScript (browser ES modules, no build step): the recommended rules.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", ".venv/", "var/", "bench-out/", "build/"] },
  js.configs.recommended,
  {
    files: ["backend/console/static/**/*.js", "backend/planning/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
  },
];
