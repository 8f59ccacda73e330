// The console's shell: sign in with the admin token, then the page the URL names.
import "./app.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { session } from "./api.js";
import { useRoute } from "./route.js";
import { Login } from "./pages/login.js";
import { FunctionList } from "./pages/function-list.js";
import { FunctionPage } from "./pages/function-page.js";
import { NewFunction } from "./pages/new-function.js";
import { Usage } from "./pages/usage.js";

function App() {
  const [token, setToken] = useState(session.token);
  useEffect(() => session.onChange(() => setToken(session.token)), []);
  const route = useRoute();
  if (token === "") return <Login />;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          litefaas
        </a>
        <nav aria-label="Console">
          <a href="#/" aria-current={route.page === "functions" ? "page" : undefined}>
            Functions
          </a>
          <a href="#/new" aria-current={route.page === "new" ? "page" : undefined}>
            New function
          </a>
          <a href="#/usage" aria-current={route.page === "usage" ? "page" : undefined}>
            Usage
          </a>
        </nav>
        <button type="button" class="quiet" onClick={() => session.signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === "functions" && <FunctionList />}
        {route.page === "new" && <NewFunction />}
        {route.page === "usage" && <Usage />}
        {route.page === "function" && (
          <FunctionPage
            key={`${route.project}/${route.name}`}
            project={route.project}
            name={route.name}
            tab={route.tab}
            query={route.query}
          />
        )}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root !== null) {
  root.textContent = "";
  render(<App />, root);
}
