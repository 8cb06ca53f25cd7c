// An item's reach, refreshed every few seconds while the page is open (its delivery live).
(function () {
  var table = document.getElementById("reach");
  if (!table) { return; }
  var cells = table.querySelectorAll("td[data-key]");
  function refresh() {
    fetch("/api/items/" + table.dataset.item, {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (figures) {
        if (!figures) { return; }
        cells.forEach(function (cell) { cell.textContent = figures[cell.dataset.key]; });
        table.dataset.refreshed = String(Number(table.dataset.refreshed || 0) + 1);
      });
  }
  window.setInterval(refresh, 2000);
})();
