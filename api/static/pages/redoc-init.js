// bihuan's /redoc page: ReDoc over /openapi.json, from files this server serves itself.
window.addEventListener("load", function () {
  var el = document.getElementById("redoc");
  var fonts = 'system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';
  Redoc.init(
    el.getAttribute("data-spec"),
    {
      expandResponses: "200,201",
      theme: {
        typography: {
          fontFamily: fonts,
          headings: { fontFamily: fonts },
          code: { fontFamily: "ui-monospace, monospace" },
        },
      },
    },
    el
  );
});
