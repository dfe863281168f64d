import { SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { CONDUCTOR_TOKEN_TTL_S } from "../../src/constants";
import { GatewayError } from "../../src/errors";
import { issueGatewayToken, verifyGatewayToken } from "../../src/identity/gatewayToken";

const A = "first-gateway-token-secret-0123456789abcd";
const B = "second-gateway-token-secret-0123456789abc";
const enc = (s: string) => new TextEncoder().encode(s);

async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).status).toBe(401);
    return (e as GatewayError).details?.error as string | undefined;
  }
  throw new Error("accepted");
}

describe("gateway tokens (Conductor SDK login)", () => {
  it("names the key, lasts CONDUCTOR_TOKEN_TTL_S, then answers EXPIRED_TOKEN", async () => {
    const now = Date.UTC(2026, 0, 1);
    const { token, expiresAt } = await issueGatewayToken("abc123def456", [A], now);
    expect(expiresAt - now).toBe(CONDUCTOR_TOKEN_TTL_S * 1000);
    expect(await verifyGatewayToken(token, [A], now + 60_000)).toBe("abc123def456");
    expect(await refusal(verifyGatewayToken(token, [A], expiresAt + 10_000))).toBe("EXPIRED_TOKEN");
  });

  it("rotates: the first secret signs, any listed one verifies, an unlisted one is INVALID_TOKEN", async () => {
    const { token } = await issueGatewayToken("abc123def456", [B, A]);
    expect(await verifyGatewayToken(token, [B, A])).toBe("abc123def456");
    expect(await verifyGatewayToken(token, [A, B])).toBe("abc123def456");
    expect(await refusal(verifyGatewayToken(token, [A]))).toBe("INVALID_TOKEN");
  });

  it("refuses what it did not sign as it signs: no alg none, no other HMAC, no JWT of another issuer or audience", async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const forged = [
      new UnsecuredJWT({})
        .setIssuer("flowgate")
        .setAudience("flowgate:conductor-sdk")
        .setSubject("abc123def456")
        .setIssuedAt()
        .setExpirationTime(exp)
        .encode(),
      await new SignJWT({})
        .setProtectedHeader({ alg: "HS512" })
        .setIssuer("flowgate")
        .setAudience("flowgate:conductor-sdk")
        .setSubject("abc123def456")
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(enc(`${A}${A}`)),
      await new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("idp")
        .setAudience("flowgate:conductor-sdk")
        .setSubject("abc123def456")
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(enc(A)),
      await new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("flowgate")
        .setAudience("api")
        .setSubject("abc123def456")
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(enc(A)),
      await new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("flowgate")
        .setAudience("flowgate:conductor-sdk")
        .setSubject("../x")
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(enc(A)),
      await new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("flowgate")
        .setAudience("flowgate:conductor-sdk")
        .setSubject("abc123def456")
        .setIssuedAt()
        .sign(enc(A)), // no exp
      "fgk_abc123def456_notatoken",
    ];
    for (const t of forged) expect(await refusal(verifyGatewayToken(t, [A])), t).toBe("INVALID_TOKEN");
  });

  it("without a secret issues nothing: a configuration error naming the variable", async () => {
    await expect(issueGatewayToken("abc123def456", [])).rejects.toMatchObject({
      code: "BAD_CONFIGURATION",
      details: { variables: ["GATEWAY_TOKEN_SECRET"] },
    });
    expect(await refusal(verifyGatewayToken((await issueGatewayToken("k", [A])).token, []))).toBe("INVALID_TOKEN");
  });
});
