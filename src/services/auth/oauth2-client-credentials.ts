// OAuth 2.0 client credentials with any token endpoint: the client secret is required.

import { OAUTH2_CLIENT_CREDENTIALS_AUTH } from '../../domain/auth-types.js';
import { genericOAuthModule } from './oauth2.js';

export const oauth2ClientCredentials = genericOAuthModule(
  OAUTH2_CLIENT_CREDENTIALS_AUTH,
  'clientSecret',
);
