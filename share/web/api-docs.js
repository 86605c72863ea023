// SPDX-License-Identifier: Apache-2.0
// Swagger UI for /api-docs, loaded from the local copy of swagger-ui-dist
// (no CDN; no inline script, so the Content-Security-Policy can forbid it).
window.addEventListener("load", function () {
	window.ui = SwaggerUIBundle({
		url: "/api/openapi.json",
		dom_id: "#swagger-ui",
		deepLinking: true,
		presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
		layout: "StandaloneLayout",
		validatorUrl: null,
		requestInterceptor: function (req) {
			var m = document.cookie.match(/(?:^|; )np_csrf=([^;]*)/);
			if (m) req.headers["X-CSRF-Token"] = decodeURIComponent(m[1]);
			return req;
		}
	});
});
