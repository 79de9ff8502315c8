/**
 * The client's address, as far as it can be trusted. `X-Forwarded-For` is whatever the client
 * wrote, plus one entry per proxy it went through: only the entries appended by proxies we run can
 * be believed, so it is read from the right, `trustedHops` deep (0: the socket's own address).
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | undefined, trustedHops: number): string {
  const forwarded = trustedHops > 0 ? (forwardedFor?.split(',').map((a) => a.trim()).filter(Boolean) ?? []) : [];
  const chain = [...forwarded, socketAddress ?? 'unknown'];
  return chain[Math.max(0, chain.length - 1 - trustedHops)]!;
}

/**
 * The key rate limits count an address under. One IPv6 host usually holds a whole /64, so its
 * addresses share the /64's key — otherwise a single client could rotate through billions of keys.
 */
export function addressKey(address: string): string {
  if (!address.includes(':') || /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address)) return address.replace(/^::ffff:/i, '');
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = [...headGroups, ...Array(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
