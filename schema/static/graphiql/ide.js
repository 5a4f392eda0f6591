/* GraphiQL on this server, with no CDN: React, ReactDOM and GraphiQL are the files beside
   this one (schema/static/graphiql, pinned in vendor.json).

   Queries and mutations go over HTTP with the headers typed in GraphiQL's headers editor.
   Subscriptions go over a WebSocket (graphql-transport-ws); a browser cannot set headers on
   one, so the editor's Authorization header is sent in the connection_init payload instead,
   where the server reads it. */
(function () {
  "use strict";
  var url = window.location.origin + window.location.pathname;
  var socketUrl = url.replace(/^http/, "ws");
  var EXAMPLE = [
    "# 绩效 GraphQL. Ctrl-Enter runs the query.",
    "# A token goes in the Headers tab: {\"Authorization\": \"Bearer <token>\"}",
    "{",
    "  ledger {",
    "    position",
    "  }",
    "}",
    ""
  ].join("\n");

  function authorization(headers) {
    if (!headers) { return null; }
    for (var name in headers) {
      if (Object.prototype.hasOwnProperty.call(headers, name) &&
          name.toLowerCase() === "authorization") {
        return String(headers[name]);
      }
    }
    return null;
  }

  // One fetcher per Authorization value: its WebSocket client sends that token at connect.
  var fetchers = {};
  function fetcherFor(auth) {
    var key = auth === null ? "" : "Bearer:" + auth;
    if (!fetchers[key]) {
      fetchers[key] = GraphiQL.createFetcher({
        url: url,
        subscriptionUrl: socketUrl,
        wsConnectionParams: auth === null ? {} : { Authorization: auth }
      });
    }
    return fetchers[key];
  }

  function fetcher(params, options) {
    var auth = authorization(options && options.headers);
    return fetcherFor(auth)(params, options);
  }

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: EXAMPLE,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    inputValueDeprecation: true
  }));
})();
