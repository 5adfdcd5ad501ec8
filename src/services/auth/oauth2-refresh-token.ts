// OAuth 2.0 refresh token with any token endpoint: the refresh token is required (rotated ones
// are kept by the token manager).

import { OAUTH2_REFRESH_TOKEN_AUTH } from '../../domain/auth-types.js';
import { genericOAuthModule } from './oauth2.js';

export const oauth2RefreshToken = genericOAuthModule(OAUTH2_REFRESH_TOKEN_AUTH, 'refreshToken');
