/** A mistake of the operator's (bad flag, bad value, refused by the gateway): exit code 2, the message alone. */
export class UsageError extends Error {}
