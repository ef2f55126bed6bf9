import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for member-cluster credentials at rest. The key lives outside the
 * database (a file, mode 0600) so a copied database alone reveals nothing.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** Loads the key file, or creates one with a fresh random key when `create` is set. */
  static fromKeyFile(path: string, create: boolean): SecretBox {
    if (!existsSync(path)) {
      if (!create) throw new Error(`encryption key file ${path} does not exist`);
      writeFileSync(path, randomBytes(KEY_BYTES).toString('base64'), { mode: 0o600 });
      chmodSync(path, 0o600);
    }
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== KEY_BYTES) throw new Error(`encryption key file ${path} must hold ${KEY_BYTES} base64-encoded bytes`);
    return new SecretBox(key);
  }

  seal(plain: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  /** `sealed` as `seal` returned it, or as SQLite gives a BLOB back (node:sqlite: a Uint8Array). */
  open(sealed: Uint8Array): Buffer {
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('sealed credentials are truncated');
    const iv = sealed.subarray(0, IV_BYTES);
    const tag = sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  }
}
