// Inside Telegram: trade the Mini App's signed init data for a session, then open the newsroom.
(function () {
  var status = document.getElementById("status");
  var app = window.Telegram && window.Telegram.WebApp;
  if (!app || !app.initData) { status.dataset.state = "outside"; return; }
  app.ready();
  fetch("/api/session", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    credentials: "same-origin",
    body: JSON.stringify({init_data: app.initData})
  }).then(function (response) {
    if (response.ok) { window.location.replace("/"); return; }
    return response.json().then(function (body) { status.textContent = body.error; });
  });
})();
