import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiProvider } from './api/context.js';
import { pickTransport } from './api/http-client.js';
import { App } from './App.js';
import './styles.css';

const { api, on } = pickTransport();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApiProvider api={api} on={on}>
      <App />
    </ApiProvider>
  </StrictMode>,
);
