// Drives the Elemental API through the TypeScript SDK generated from its served spec
// (openapi-typescript types in generated/schema.ts, openapi-fetch at run time).
// Usage: node build/src/client.js register|finish; settings come from the environment.
// Every check throws on a mismatch; the names of the checks passed are printed as JSON.
import createClient from "openapi-fetch";
import type { components, paths } from "../generated/schema.js";

type Problem = components["schemas"]["Problem"];
type HostResponse = components["schemas"]["ApiHostResponse"];

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
};

const specUrl = env("SPEC_URL");
const namespace = "default";
const registrationName = env("REGISTRATION");
const hostName = env("HOST_NAME");
const registrationToken = env("REGISTRATION_TOKEN");
const hostToken = env("HOST_TOKEN");
const pubKey = env("PUB_KEY");
const passed: string[] = [];

function check(name: string, condition: boolean, detail: unknown): void {
  if (!condition) throw new Error(`${name} failed: ${JSON.stringify(detail)}`);
  passed.push(name);
}

function isProblem(error: Problem | undefined, status: number, response: Response): boolean {
  return (
    error !== undefined &&
    error.status === status &&
    response.status === status &&
    typeof error.title === "string" &&
    response.headers.get("content-type") === "application/problem+json"
  );
}

// The base URL is the one the served spec declares: no URL typed by hand.
const served = (await (await fetch(specUrl)).json()) as { servers: { url: string }[] };
const baseUrl = served.servers[0]?.url;
if (baseUrl === undefined) throw new Error("the served spec declares no server");
const client = createClient<paths>({ baseUrl });

const registrationPath = { namespace, registrationName };
const hostPath = { namespace, registrationName, hostName };
const hostAuth = { Authorization: `Bearer ${hostToken}` };

async function register(): Promise<void> {
  const registration = await client.GET("/namespaces/{namespace}/registrations/{registrationName}", {
    params: { path: registrationPath },
    headers: { "Registration-Authorization": registrationToken },
  });
  check("getRegistration 200", registration.response.status === 200, registration.error);
  const uri: string | undefined = registration.data?.config.elemental?.registration?.uri;
  check("getRegistration has the registration URI", uri?.endsWith(`/registrations/${registrationName}`) === true, uri);

  const forged = await client.GET("/namespaces/{namespace}/registrations/{registrationName}", {
    params: { path: registrationPath },
    headers: { "Registration-Authorization": `Bearer ${hostToken}` },
  });
  check("getRegistration with a wrong token is a 403 problem", isProblem(forged.error, 403, forged.response), forged.error);

  const missing = await client.GET("/namespaces/{namespace}/registrations/{registrationName}", {
    params: { path: { namespace, registrationName: "no-such-registration" } },
    headers: { "Registration-Authorization": registrationToken },
  });
  check("getRegistration of an unknown registration is a 404 problem", isProblem(missing.error, 404, missing.response), missing.error);

  const body = { name: hostName, pubKey, labels: { hardware: "nuc-13" } };
  const headers = { "Registration-Authorization": `Bearer ${registrationToken}`, ...hostAuth };
  const created = await client.POST("/namespaces/{namespace}/registrations/{registrationName}/hosts", {
    params: { path: registrationPath },
    body,
    headers,
  });
  check("createHost 201", created.response.status === 201, created.error);
  check(
    "createHost Location",
    created.response.headers.get("location") === `/elemental/v1/namespaces/${namespace}/registrations/${registrationName}/hosts/${hostName}`,
    created.response.headers.get("location"),
  );
  const again = await client.POST("/namespaces/{namespace}/registrations/{registrationName}/hosts", {
    params: { path: registrationPath },
    body,
    headers,
  });
  check("createHost again is a 409 problem", isProblem(again.error, 409, again.response), again.error);

  const unauthenticated = await client.POST("/namespaces/{namespace}/registrations/{registrationName}/hosts", {
    params: { path: registrationPath },
    body,
    headers: hostAuth,
  });
  check("createHost without the registration token is a 401 problem", isProblem(unauthenticated.error, 401, unauthenticated.response), unauthenticated.error);

  const patched = await client.PATCH("/namespaces/{namespace}/registrations/{registrationName}/hosts/{hostName}", {
    params: { path: hostPath },
    body: {
      installed: true,
      phase: "Running",
      condition: { type: "InstallationReady", status: "True", severity: "Info", lastTransitionTime: null },
    },
    headers: hostAuth,
  });
  // Required in the spec, so typed as always there: no `?.` needed.
  const host: HostResponse | undefined = patched.data;
  check("patchHost 200", patched.response.status === 200 && host !== undefined, patched.error);
  if (host !== undefined) {
    // These bindings compile only while the spec marks the fields required.
    const name: string = host.name;
    const state: boolean[] = [host.installed, host.bootstrapReady, host.bootstrapped, host.needsReset];
    check("patchHost answers the host", name === hostName && state.join() === "true,false,false,false", host);
  }

  const refused = await client.PATCH("/namespaces/{namespace}/registrations/{registrationName}/hosts/{hostName}", {
    params: { path: hostPath },
    body: { bootstrapped: true },
    headers: hostAuth,
  });
  check("patchHost bootstrapped without bootstrap data is a 400 problem", isProblem(refused.error, 400, refused.response), refused.error);

  const notJson = await client.PATCH("/namespaces/{namespace}/registrations/{registrationName}/hosts/{hostName}", {
    params: { path: hostPath },
    body: {},
    bodySerializer: () => "installed=true",
    headers: { ...hostAuth, "Content-Type": "text/plain" },
  });
  check("patchHost with a text body is a 415 problem", isProblem(notJson.error, 415, notJson.response), notJson.error);

  const noBootstrap = await client.GET("/namespaces/{namespace}/registrations/{registrationName}/hosts/{hostName}/bootstrap", {
    params: { path: hostPath },
    headers: hostAuth,
  });
  check("getBootstrap before any is attached is a 404 problem", isProblem(noBootstrap.error, 404, noBootstrap.response), noBootstrap.error);
}

async function finish(): Promise<void> {
  const bootstrap = await client.GET("/namespaces/{namespace}/registrations/{registrationName}/hosts/{hostName}/bootstrap", {
    params: { path: hostPath },
    headers: hostAuth,
  });
  const format: string | undefined = bootstrap.data?.format;
  check("getBootstrap 200", bootstrap.response.status === 200 && format === "cloud-config", bootstrap.error);
  check("getBootstrap config", bootstrap.data?.config.startsWith("#cloud-config") === true, bootstrap.data);

  const forged = await client.DELETE("/namespaces/{namespace}/registrations/{registrationName}/hosts/{hostName}", {
    params: { path: hostPath },
    headers: { Authorization: `Bearer ${registrationToken}` },
  });
  check("deleteHost with a wrong token is a 403 problem", isProblem(forged.error, 403, forged.response), forged.error);

  const deleted = await client.DELETE("/namespaces/{namespace}/registrations/{registrationName}/hosts/{hostName}", {
    params: { path: hostPath },
    headers: hostAuth,
  });
  check("deleteHost 202", deleted.response.status === 202, deleted.error);

  const checkIn = await client.PATCH("/namespaces/{namespace}/registrations/{registrationName}/hosts/{hostName}", {
    params: { path: hostPath },
    body: {},
    headers: hostAuth,
  });
  check("patchHost after deleteHost says needsReset", checkIn.data?.needsReset === true, checkIn.data);
}

const phase = process.argv[2];
if (phase === "register") await register();
else if (phase === "finish") await finish();
else throw new Error(`unknown phase ${String(phase)}: register or finish`);
console.log(JSON.stringify({ phase, passed }));
