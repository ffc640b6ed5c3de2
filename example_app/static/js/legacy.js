// The legacy page's script: a classic (non-module) script, preloaded as=script because
// manifests/legacy.json lists it for the view decorated with @http2push.
(function () {
  'use strict';
  var status = document.getElementById('legacy-status');
  if (!status) return;
  status.dataset.status = 'ran';
  status.textContent = 'legacy.js ran: it was announced by manifests/legacy.json.';
})();
