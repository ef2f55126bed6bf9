/** The dashboard's entry: renders the app into #app. */
import { render } from 'preact';
import { App } from './app';
import './style.css';

render(<App />, document.getElementById('app') as HTMLElement);
