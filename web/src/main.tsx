import { render } from 'preact';
import { App } from './app.js';
import { Guard } from './views/util.js';
import './style.css';

render(<Guard name="faultline"><App /></Guard>, document.getElementById('app')!);
