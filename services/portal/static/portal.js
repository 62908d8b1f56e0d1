// Small enhancements; every page works without them.
(function () {
  // The viewer's time zone, from the browser: times are shown in it from the next page on.
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var shown = document.documentElement.getAttribute("data-zone");
  if (zone && zone !== shown && document.cookie.indexOf("entitle_tz_auto=") === -1) {
    document.cookie = "entitle_tz=" + zone.replace(/[^A-Za-z0-9/_+-]/g, "") + "; path=/; max-age=31536000; samesite=lax";
    document.cookie = "entitle_tz_auto=1; path=/; max-age=31536000; samesite=lax";
  }
  // Copy buttons.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = "Copied";
      });
    });
  });
})();
