// The exercise page: KaTeX for the statement's math, Ace over the code textarea.
// Without JavaScript the page still works: plain text math and a plain textarea.
(function () {
  "use strict";

  function renderMath() {
    if (!window.katex) return;
    document.querySelectorAll("#statement .math").forEach(function (element) {
      katex.render(element.textContent, element, {
        displayMode: element.classList.contains("block"),
        throwOnError: false,
      });
    });
  }

  function mountEditor() {
    var textarea = document.getElementById("source");
    var holder = document.getElementById("editor");
    if (!window.ace || !textarea || !holder) return;
    var script = document.currentScript || document.querySelector("script[data-ace-base]");
    ace.config.set("basePath", script.dataset.aceBase);
    holder.hidden = false;
    textarea.hidden = true;
    var editor = ace.edit(holder, {
      mode: "ace/mode/python",
      theme: "ace/theme/chrome",
      value: textarea.value,
      fontSize: "14px",
      tabSize: 4,
      useSoftTabs: true,
      minLines: 24,
      maxLines: 60,
      showPrintMargin: false,
    });
    editor.session.on("change", function () {
      textarea.value = editor.getValue();
    });
    window.gradelabEditor = editor; // for the browser tests and the console
  }

  function preventDoubleSubmit() {
    var form = document.getElementById("submit-form");
    if (!form) return;
    form.addEventListener("submit", function () {
      document.getElementById("submit").disabled = true;
    });
  }

  renderMath();
  mountEditor();
  preventDoubleSubmit();
})();
