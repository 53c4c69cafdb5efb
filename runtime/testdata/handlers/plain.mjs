export default function ignored() {}
export async function shout(payload) {
  return String(payload).toUpperCase();
}
