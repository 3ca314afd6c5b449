// Vinyl Vault reference SPA: enough client code to prove routing and asset caching.
(function () {
  var root = document.getElementById("root");
  fetch("/auth/me", { credentials: "include" })
    .then(function (r) { return r.json(); })
    .then(function (me) {
      root.textContent = me.user ? "Signed in as " + me.user.githubLogin : "Vinyl Vault";
    })
    .catch(function () { root.textContent = "Vinyl Vault"; });
})();
