// The SMTP client of alert emails (Nodemailer). HERALD_SMTP_URL holds everything: `smtp://` (with
// STARTTLS whenever the server offers it) or `smtps://` (TLS from the first byte), host, port, and
// the user name and password when the server wants them. The server is the operator's own choice,
// not an account's, so it does not go through the SSRF guard; its certificate is checked against
// Node's trusted CAs (add a private CA with NODE_EXTRA_CA_CERTS).

import { createTransport } from 'nodemailer';

export interface SmtpMessage {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface SmtpClient {
  /** Resolves once the server accepted the message; rejects with the server's or socket's error. */
  send(message: SmtpMessage): Promise<void>;
  close(): void;
}

export function smtpClient(url: string, onError: (error: Error) => void): SmtpClient {
  const transport = createTransport({
    url,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    // The messages are built here, from text: nothing may make Nodemailer read a file or a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  transport.on('error', onError);
  return {
    async send(message) {
      await transport.sendMail({ ...message });
    },
    close() {
      transport.close();
    },
  };
}
