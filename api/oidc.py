"""OpenID Connect: the provider's tokens checked, and who their bearer is in this product.

`OidcVerifier` reads the provider's discovery document from the issuer and its JWKS, and checks
a JWT (an access token for the API, an ID token at the console's sign-in): signature against
the provider's keys (RS*, PS*, ES* only: `alg: none` and the HMAC algorithms, whose key would
be a public value, are refused), issuer, audience, expiry, subject, and the nonce for ID tokens.
Keys are cached; a token naming an unknown `kid` refetches the JWKS (the provider rotated its
keys), at most once per `oidc_jwks_refresh_floor_s`, so a flood of forged kids costs the
provider nothing.

`person_from_claims` turns the claims into a directory person: the directory entry matched by
subject or e-mail, the claims (configurable names, group -> role mapping), or both, as
`oidc_person_source` says (docs/decisions/0055-oidc-sign-in.md).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import structlog
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import ClaimsOption
from pydantic import ValidationError

from core.directory import Directory, DirectoryEntry
from core.settings import Settings
from workflows.access import ROLES

log = structlog.get_logger("oidc")

# Asymmetric only: with HS* the "secret" would be whatever key the verifier holds (public)
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
METADATA_TTL_S = 3600.0


class TokenRefused(Exception):
    """The token is not one the provider issued for us, now (the message says why)."""


class ProviderUnreachable(Exception):
    """The provider's discovery document or keys could not be read."""


class RoleUnknown(Exception):
    """A signed-in person the product has no role for (the message says why, for the page)."""


def looks_like_jwt(token: str) -> bool:
    # a compact JWS: three base64url parts, the header a JSON object ("{" -> "eyJ")
    return token.count(".") == 2 and token.startswith("eyJ")


class OidcVerifier:
    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        assert settings.oidc_issuer, "OIDC is not configured"
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.http = http or httpx.AsyncClient(timeout=settings.http_timeout_s)
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = -1e9  # monotonic time of the last JWKS fetch
        self._lock = asyncio.Lock()
        self.jwks_fetches = 0  # read by the tests: the refresh floor holds

    @property
    def api_audience(self) -> str:
        return self.settings.oidc_audience or self.settings.oidc_client_id or ""

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _get(self, url: str) -> dict[str, Any]:
        try:
            r = await self.http.get(url)
            r.raise_for_status()
            data = r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise ProviderUnreachable(f"{url}: {e}") from None
        if not isinstance(data, dict):
            raise ProviderUnreachable(f"{url}: not a JSON object")
        return data

    async def metadata(self) -> dict[str, Any]:
        """The discovery document (cached for an hour); its issuer must be ours."""
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_S:
            data = await self._get(f"{self.issuer}/.well-known/openid-configuration")
            if str(data.get("issuer", "")).rstrip("/") != self.issuer:
                raise ProviderUnreachable(
                    f"the discovery document names issuer {data.get('issuer')!r}, "
                    f"not {self.issuer!r}"
                )
            self._metadata, self._metadata_at = data, time.monotonic()
        return self._metadata

    async def _key_set(self, kid: str | None) -> KeySet:
        """The provider's keys, refetched when `kid` is not among them (not more often than
        the floor)."""
        if self._keys is not None and _has_kid(self._keys, kid):
            return self._keys
        async with self._lock:
            if self._keys is not None and _has_kid(self._keys, kid):
                return self._keys
            floor = self.settings.oidc_jwks_refresh_floor_s
            if self._keys is None or time.monotonic() - self._keys_at >= floor:
                meta = await self.metadata()
                data = await self._get(str(meta["jwks_uri"]))
                self._keys_at = time.monotonic()
                self.jwks_fetches += 1
                try:
                    self._keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError, KeyError) as e:
                    raise ProviderUnreachable(f"the provider's JWKS does not load: {e}") from None
                log.info("oidc_jwks_fetched", keys=len(self._keys.keys))
            return self._keys

    async def verify(
        self, token: str, *, audience: str, nonce: str | None = None
    ) -> dict[str, Any]:
        """The claims of a valid token; TokenRefused with the reason otherwise."""
        try:
            header = jws.extract_compact(token.encode()).headers()
        except (JoseError, ValueError, UnicodeError):
            raise TokenRefused("The token is not a well-formed JWT.") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenRefused(f"Tokens signed with alg {alg!r} are not accepted.")
        kid = header.get("kid")
        keys = await self._key_set(kid if isinstance(kid, str) else None)
        if not _has_kid(keys, kid):
            raise TokenRefused("The token is signed by a key the provider does not publish.")
        try:
            decoded = jwt.decode(token, keys, algorithms=[alg])
        except (JoseError, ValueError) as e:
            raise TokenRefused(f"The token's signature does not verify ({e}).") from None
        claims = decoded.claims
        options: dict[str, ClaimsOption] = {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": audience},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        registry = jwt.JWTClaimsRegistry(leeway=self.settings.oidc_leeway_s, **options)  # type: ignore[arg-type]
        try:
            registry.validate(claims)
        except JoseError as e:
            raise TokenRefused(_claim_refusal(e)) from None
        return claims


def _has_kid(keys: KeySet, kid: object) -> bool:
    if kid is None:  # a provider with one key may leave kid out
        return len(keys.keys) == 1
    return any(k.kid == kid for k in keys.keys)


def _claim_refusal(e: JoseError) -> str:
    name = getattr(e, "claim", None) or ""
    if e.error == "expired_token":
        return "The token has expired."
    if name == "aud":
        return "The token was issued for another audience."
    if name == "iss":
        return "The token was issued by another provider."
    if name == "nonce":
        return "The sign-in's nonce does not match (a replayed ID token?)."
    return f"The token's claims are not acceptable ({e.error}: {e.description or name})."


# --- who the person is --------------------------------------------------------------------------


def _roles_of(claims: dict[str, Any], settings: Settings) -> list[str]:
    raw = claims.get(settings.oidc_role_claim)
    values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    mapping = settings.oidc_role_map
    roles = [mapping.get(v, v) if mapping else v for v in values if isinstance(v, str)]
    return [r for r in roles if r in ROLES and r != "customer"]


def _matched(claims: dict[str, Any], directory: Directory, email: str | None) -> DirectoryEntry:
    sub = claims["sub"]
    by_sub = next((p for p in directory.people if p.subject and p.subject == sub), None)
    if by_sub is not None or not email or claims.get("email_verified") is False:
        return by_sub  # type: ignore[return-value]
    return next(  # type: ignore[return-value]
        (p for p in directory.people if p.email and p.email.lower() == email.lower()), None
    )


def person_from_claims(
    claims: dict[str, Any], directory: Directory, settings: Settings
) -> DirectoryEntry:
    """The person the verified claims name; RoleUnknown when the product has no role for
    them."""
    sub = str(claims["sub"])
    email = claims.get(settings.oidc_email_claim)
    email = email if isinstance(email, str) else None
    entry = _matched(claims, directory, email)
    if entry is not None and settings.oidc_person_source == "directory":
        return entry.model_copy(update={"subject": sub})
    roles = _roles_of(claims, settings)
    base: dict[str, Any] = entry.model_dump() if entry is not None else {}
    role = roles[0] if roles else base.get("role")
    if role is None:
        given = claims.get(settings.oidc_role_claim)
        raise RoleUnknown(
            f"You signed in as {email or sub}, but the identity provider gives you no role "
            f"this service knows (claim {settings.oidc_role_claim!r}: {given!r}). Ask your "
            "administrator to add you to one of its groups for: " + ", ".join(sorted(ROLES))
        )
    limit = claims.get(settings.oidc_authority_claim)
    if limit is None:
        limit = base.get("authority_limit") or settings.oidc_authority_by_role.get(role, 0)
    person = {
        **base,
        "id": base.get("id") or f"oidc:{sub}",
        "name": claims.get(settings.oidc_name_claim) or base.get("name") or email or sub,
        "role": role,
        "authority_limit": limit,
        "team": claims.get(settings.oidc_team_claim) or base.get("team"),
        "calendar": claims.get(settings.oidc_calendar_claim) or base.get("calendar"),
        "email": email or base.get("email"),
        "subject": sub,
        "token_hmac": None,  # never a token's hash in a session
    }
    try:
        return DirectoryEntry.model_validate(person)
    except ValidationError as e:
        why = f"The identity provider's claims for {email or sub} do not fit: {e}"
        raise RoleUnknown(why) from None


def issuer_origin(settings: Settings) -> tuple[str, ...]:
    """The provider's origin (scheme://host[:port]), where the console's sign-out continues."""
    if not settings.oidc_issuer:
        return ()
    url = httpx.URL(settings.oidc_issuer)
    return (f"{url.scheme}://{url.netloc.decode()}",)


def start_refusal(settings: Settings) -> str | None:
    """Why the API must not start with these OIDC settings (None: it may)."""
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_client_id:
        return "ESCALATIONS_OIDC_ISSUER is set but ESCALATIONS_OIDC_CLIENT_ID is not"
    if not settings.demo and not settings.oidc_issuer.startswith("https://"):
        return (
            "refusing to start: the OIDC issuer is not https and ESCALATIONS_DEMO is not true; "
            "tokens and keys would travel in the clear"
        )
    unknown = sorted(set(settings.oidc_role_map.values()) - set(ROLES))
    if unknown:
        return f"ESCALATIONS_OIDC_ROLE_MAP names unknown roles: {', '.join(unknown)}"
    return None
