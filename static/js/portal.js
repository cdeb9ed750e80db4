// fleetadmin: small progressive enhancements. Everything works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function flash(text, level) {
    var region = document.getElementById("messages");
    if (!region) return;
    var box = document.createElement("div");
    box.className = "flash flash-" + (level || "info");
    box.setAttribute("role", level === "error" ? "alert" : "status");
    var span = document.createElement("span");
    span.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "flash-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    box.appendChild(span);
    box.appendChild(close);
    region.appendChild(box);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      try {
        document.execCommand("copy") ? resolve() : reject(new Error("copy refused"));
      } catch (err) {
        reject(err);
      } finally {
        document.body.removeChild(area);
      }
    });
  }

  document.addEventListener("click", function (event) {
    var copyButton = event.target.closest("[data-copy]");
    if (copyButton) {
      var label = copyButton.textContent;
      copyText(copyButton.getAttribute("data-copy")).then(
        function () {
          copyButton.textContent = "Copied";
          copyButton.classList.add("is-copied");
          setTimeout(function () {
            copyButton.textContent = label;
            copyButton.classList.remove("is-copied");
          }, 1500);
        },
        function () {
          flash("Could not copy automatically; select the text and copy it by hand.", "error");
        }
      );
      return;
    }
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var box = dismiss.closest(".flash");
      if (box) box.remove();
      return;
    }
    // Close open menus when clicking elsewhere.
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // htmx: errors that are not swapped (403, 404, 5xx) still tell the user what happened.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var messages = {
      403: "You do not have permission to do that.",
      404: "That item no longer exists, or you do not have access to it.",
      429: "Too many requests; wait a moment and try again."
    };
    flash(messages[status] || "The server could not complete the request (" + status + "). Try again.", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    flash("The portal could not be reached. Check your connection and try again.", "error");
  });

  // New content that asks for focus (an inline rename form) gets it.
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    if (!elt || elt === document.body || !elt.querySelector) return;
    var field = elt.matches("[autofocus]") ? elt : elt.querySelector("[autofocus]");
    if (field) field.focus();
  });
})();
