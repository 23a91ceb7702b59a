// The labels page's Print button (an external script: the Content-Security-Policy allows no
// inline handler).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
