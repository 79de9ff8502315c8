import { createRouter } from '../../lib/create-app';
import * as handlers from './users.handlers';
import * as routes from './users.routes';

export const usersRouter = createRouter()
  .openapi(routes.signIn, handlers.signIn)
  .openapi(routes.me, handlers.me)
  .openapi(routes.signOut, handlers.signOut)
  .openapi(routes.signUp, handlers.signUp)
  .openapi(routes.gitlabSignIn, handlers.gitlabSignIn)
  .openapi(routes.gitlabCallback, handlers.gitlabCallback);
