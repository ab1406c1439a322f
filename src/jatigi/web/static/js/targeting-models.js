// Model editor: a problem's "Line N" link puts the cursor on that line of the text and selects it.
(function () {
  "use strict";
  var editor = document.getElementById("f-text");
  if (!editor) { return; }
  document.querySelectorAll("a.tg-line[data-line]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var wanted = parseInt(link.getAttribute("data-line"), 10);
      var lines = editor.value.split("\n");
      var start = 0;
      for (var i = 0; i < wanted - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
      var end = start + (lines[wanted - 1] || "").length;
      editor.focus();
      editor.setSelectionRange(start, end);
      var lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 20;
      editor.scrollTop = Math.max(0, (wanted - 5) * lineHeight);
    });
  });
}());
