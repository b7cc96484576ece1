// The shell: asks who is signed in, shows the sign-in form or the navigation
// for the account's role, and picks the page for the current path.
import { useEffect, useState, type ReactNode } from "react";
import { api, onSignedOut, type Me } from "./api/client";
import { ArtifactDetailsPage } from "./pages/ArtifactDetails";
import { ArtifactsPage } from "./pages/Artifacts";
import { AuditPage } from "./pages/Audit";
import { CustomerPage, CustomersPage } from "./pages/Customers";
import { DashboardPage } from "./pages/Dashboard";
import { DownloadsPage } from "./pages/Downloads";
import { LicenseEditPage, LicensesPage } from "./pages/Licenses";
import { PortalArtifactPage, PortalPage } from "./pages/Portal";
import { SignIn } from "./pages/SignIn";
import { TokensPage } from "./pages/Tokens";
import { UsersPage } from "./pages/Users";
import { artifactFromPath, Link, navigate, useLocation } from "./router";
import { isAdmin, isCustomer, SessionContext } from "./session";
import { Loading } from "./ui/parts";

interface NavItem {
  href: string;
  label: string;
}

function navFor(me: Me): NavItem[] {
  if (isCustomer(me)) {
    return [
      { href: "/portal", label: "My artifacts" },
      { href: "/tokens", label: "Tokens" },
    ];
  }
  const items = [
    { href: "/artifacts", label: "Artifacts" },
    { href: "/downloads", label: "Downloads" },
    { href: "/dashboard", label: "Dashboard" },
    { href: "/customers", label: "Customers" },
    { href: "/licenses", label: "Licenses" },
    { href: "/tokens", label: "Tokens" },
  ];
  return isAdmin(me)
    ? [...items, { href: "/users", label: "Users" }, { href: "/audit", label: "Audit log" }]
    : items;
}

/** The page for `path`, or null when the path names none. */
function pageFor(path: string, me: Me): ReactNode {
  const id = (base: string) => (path.startsWith(base) ? decodeURIComponent(path.slice(base.length)) : null);
  if (isCustomer(me)) {
    if (path === "/portal") return <PortalPage />;
    const name = artifactFromPath(path, "/portal");
    if (name) return <PortalArtifactPage name={name} />;
    if (path === "/tokens") return <TokensPage />;
    return null;
  }
  const artifact = artifactFromPath(path, "/artifacts");
  if (artifact) return <ArtifactDetailsPage name={artifact} />;
  const simple: Record<string, ReactNode> = {
    "/artifacts": <ArtifactsPage />,
    "/downloads": <DownloadsPage />,
    "/dashboard": <DashboardPage />,
    "/customers": <CustomersPage />,
    "/licenses": <LicensesPage />,
    "/licenses/new": <LicenseEditPage id={null} />,
    "/tokens": <TokensPage />,
  };
  if (path in simple) return simple[path];
  if (path === "/users" && isAdmin(me)) return <UsersPage />;
  if (path === "/audit" && isAdmin(me)) return <AuditPage />;
  const customer = id("/customers/");
  if (customer) return <CustomerPage id={customer} />;
  const license = id("/licenses/");
  if (license) return <LicenseEditPage id={license} />;
  return null;
}

const home = (me: Me) => (isCustomer(me) ? "/portal" : "/artifacts");

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const { pathname } = useLocation();
  useEffect(() => {
    api.GET("/api/v1/me").then(({ data }) => setMe(data ?? null), () => setMe(null));
    return onSignedOut(() => setMe(null));
  }, []);
  useEffect(() => {
    if (me && (pathname === "/" || pathname === "/signin")) navigate(home(me), true);
  }, [me, pathname]);
  if (me === undefined) return <Loading />;
  if (me === null) return <SignIn onSignedIn={setMe} />;
  const signOut = async () => {
    await api.DELETE("/api/v1/session");
    setMe(null);
    navigate("/", true);
  };
  const nav = navFor(me);
  return (
    <SessionContext.Provider value={me}>
      <header className="top">
        <Link href={home(me)} className="brand">
          Tollgate
        </Link>
        <nav aria-label="Main">
          {nav.map((item) => (
            <Link key={item.href} href={item.href} aria-current={pathname.startsWith(item.href) ? "page" : undefined}>
              {item.label}
            </Link>
          ))}
        </nav>
        <div className="account">
          <span title={me.role}>{me.email}</span>
          <button type="button" className="small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main className="page">{pageFor(pathname, me) ?? <NotFound />}</main>
    </SessionContext.Provider>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page here. <Link href="/">Go to the start</Link>.
      </p>
    </section>
  );
}
