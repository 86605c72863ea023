// ESLint for the web UI's JavaScript and the browser tests (make lint).
// ESLint's recommended rules and nothing else; the globals say where each
// file runs.
import js from "@eslint/js";
import globals from "globals";

export default [
	js.configs.recommended,
	{
		// The UI's ES modules, loaded by index.html.
		files: ["share/web/js/**/*.js"],
		languageOptions: { sourceType: "module", globals: globals.browser },
	},
	{
		// /api-docs: a classic script beside Swagger UI's bundle.
		files: ["share/web/api-docs.js"],
		languageOptions: {
			sourceType: "script",
			globals: { ...globals.browser, SwaggerUIBundle: "readonly", SwaggerUIStandalonePreset: "readonly" },
		},
	},
	{
		// Browser tests: node drives chromium (playwright-core); functions
		// passed to page.evaluate run in the page.
		files: ["tests/browser/*.mjs"],
		languageOptions: { sourceType: "module", globals: { ...globals.node, ...globals.browser } },
	},
];
